/** The commands the core itself registers (owner `core`). */
import type { CoreServices } from '../kernel/plugin-context.js';
import { registerAgentCommands, type AgentFacts } from './agent-commands.js';
import { registerHostCommands } from './host-commands.js';
import { registerTelemetryCommands } from './telemetry-commands.js';

export type { AgentFacts } from './agent-commands.js';

/** Registers every core command. */
export function registerCoreCommands(s: CoreServices, facts: AgentFacts): void {
  registerAgentCommands(s.commands, facts);
  registerHostCommands(s.commands, s.host);
  registerTelemetryCommands(s.commands, s.telemetry);
}
