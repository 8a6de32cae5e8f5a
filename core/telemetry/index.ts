/** In-memory telemetry: metric definitions, latest readings and bounded histories. */
export {
  DEFAULT_HISTORY_SIZE,
  TelemetryStore,
  type HistoryQuery,
  type MetricFilter,
  type ReadingListener,
  type RecordOptions,
  type TelemetryStatusChange,
  type TelemetryStoreOptions,
} from './telemetry-store.js';
export {
  METRIC_ID_MAX_LENGTH,
  METRIC_ID_PATTERN,
  UNIT_OF_KIND,
  deriveStatus,
  validateMetricDefinition,
} from './metric-rules.js';
export { ReadingRing } from './reading-ring.js';
