/**
 * What the repository's scripts take from the agent (scripts/redfish-conformance-agent.mjs). The
 * build bundles it with vpmd (dist/app/vpmd-tooling.js, scripts/bundle.mjs), so that a script, the
 * built-in plugins and the test kit share one core: tsc's separate files under dist/ would give
 * the plugins (whose `vpmd` is the bundle) another core than the agent's.
 */
export { prepareDemo } from './demo.js';
export { runAgentUntilSignal } from './run-agent.js';
export { BUILTIN_PLUGINS } from './builtin-plugins.js';
export { readConfigFile, assertNoProblems } from '../core/config/load-config.js';
export { ControlClient } from '../core/control/control-client.js';
