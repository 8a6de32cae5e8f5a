/**
 * EventService routes: the service, its subscriptions (EventDestination, HTTPS destinations
 * only) and the SSE stream. An open SSE stream is listed as an EventDestination of
 * SubscriptionType SSE until it closes.
 */
import type { ServiceDeps } from '../config.js';
import { RedfishError, baseMessage, eventMessage, fail } from '../http/redfish-error.js';
import type { Reply, Route, RouteRequest } from '../http/router.js';
import { checkBody, type FieldCheck } from '../resources/patch.js';
import { notFound } from '../resources/service-root.js';
import { collection, link, odataType, status } from '../resources/types.js';
import type { EventHub } from './event-hub.js';

const ES = '/redfish/v1/EventService';
const MAX_SUBSCRIPTIONS = 32;
/** `Registry.Major.Minor.Errata.MessageKey` (the errata part optional). */
const MESSAGE_ID = /^[A-Za-z0-9]+\.\d+\.\d+(\.\d+)?\.[A-Za-z0-9]+$/;
const SUB_FIELDS: Record<string, FieldCheck> = {
  Destination: { type: 'string', maxLength: 2048 },
  Context: { type: 'string', maxLength: 256 },
  Protocol: { type: 'string', values: ['Redfish'] },
  SubscriptionType: { type: 'string', values: ['RedfishEvent'] },
  EventFormatType: { type: 'string', values: ['Event'] },
};

function httpsUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'https:' && u.hostname !== '' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/** Routes of the EventService. */
export function eventRoutes(deps: ServiceDeps, hub: EventHub): Route[] {
  const serviceBody = (): Record<string, unknown> => ({
    '@odata.id': ES,
    '@odata.type': odataType('EventService'),
    Id: 'EventService',
    Name: 'Event service',
    ServiceEnabled: true,
    DeliveryRetryAttempts: hub.settings.retryAttempts,
    DeliveryRetryIntervalSeconds: hub.settings.retryIntervalSeconds,
    EventFormatTypes: ['Event'],
    RegistryPrefixes: ['ResourceEvent'],
    ServerSentEventUri: `${ES}/SSE`,
    Subscriptions: link(`${ES}/Subscriptions`),
    Status: status('OK'),
    Actions: { '#EventService.SubmitTestEvent': { target: `${ES}/Actions/EventService.SubmitTestEvent` } },
  });
  const destinationBody = (id: string): Record<string, unknown> => {
    const sse = hub.streams().find((c) => c.id === id);
    const sub = hub.subscriptions().find((s) => s.id === id);
    if (!sse && !sub) throw notFound('EventDestination', id);
    return {
      '@odata.id': `${ES}/Subscriptions/${id}`,
      '@odata.type': odataType('EventDestination'),
      Id: id,
      Name: sse ? 'Server-sent event stream' : 'Event subscription',
      Protocol: 'Redfish',
      SubscriptionType: sse ? 'SSE' : 'RedfishEvent',
      EventFormatType: 'Event',
      Context: sub?.context ?? '',
      ...(sub ? { Destination: sub.destination } : {}),
      ...(sub?.registryPrefixes ? { RegistryPrefixes: sub.registryPrefixes } : {}),
      Status: status('OK'),
    };
  };
  const owner = (req: RouteRequest): string | undefined => {
    const id = req.params.id ?? '';
    return hub.subscriptions().find((s) => s.id === id)?.owner ?? hub.streams().find((c) => c.id === id)?.owner;
  };
  return [
    {
      pattern: ES,
      entity: 'EventService',
      get: serviceBody,
      patch: async (req) => {
        checkBody(
          req.body,
          {
            DeliveryRetryAttempts: { type: 'integer', min: 0, max: 10 },
            DeliveryRetryIntervalSeconds: { type: 'integer', min: 1, max: 3600 },
          },
          serviceBody(),
        );
        const b = req.body as { DeliveryRetryAttempts?: number; DeliveryRetryIntervalSeconds?: number };
        await hub.setSettings({
          ...(b.DeliveryRetryAttempts !== undefined ? { retryAttempts: b.DeliveryRetryAttempts } : {}),
          ...(b.DeliveryRetryIntervalSeconds !== undefined
            ? { retryIntervalSeconds: b.DeliveryRetryIntervalSeconds }
            : {}),
        });
        return serviceBody();
      },
    },
    {
      pattern: `${ES}/Subscriptions`,
      entity: 'EventDestinationCollection',
      get: () =>
        collection(
          'EventDestinationCollection',
          `${ES}/Subscriptions`,
          'Event subscriptions',
          [...hub.subscriptions().map((s) => s.id), ...hub.streams().map((c) => c.id)].map(
            (id) => `${ES}/Subscriptions/${id}`,
          ),
        ),
      post: async (req): Promise<Reply> => {
        checkBody(req.body, { ...SUB_FIELDS, RegistryPrefixes: { type: 'string' } }, {}, ['Destination', 'Protocol']);
        const b = req.body as { Destination: string; Context?: string; RegistryPrefixes?: unknown };
        if (!httpsUrl(b.Destination)) {
          throw new RedfishError(400, [
            {
              ...baseMessage('PropertyValueFormatError', [b.Destination, 'Destination'], 'Destination'),
              Message: `Destination '${b.Destination}' must be an https:// URL (plain HTTP and credentials in URLs are refused).`,
            },
          ]);
        }
        if (hub.subscriptions().length >= MAX_SUBSCRIPTIONS) throw fail(400, 'CreateLimitReachedForResource');
        const sub = await hub.subscribe({
          destination: b.Destination,
          owner: req.principal?.name ?? '',
          ...(b.Context !== undefined ? { context: b.Context } : {}),
        });
        return { status: 201, body: destinationBody(sub.id), headers: { Location: `${ES}/Subscriptions/${sub.id}` } };
      },
    },
    {
      pattern: `${ES}/Subscriptions/{id}`,
      entity: 'EventDestination',
      owner,
      get: (req) => destinationBody(req.params.id ?? ''),
      patch: async (req) => {
        const cur = destinationBody(req.params.id ?? '');
        checkBody(req.body, { Context: { type: 'string', maxLength: 256 } }, cur);
        if (!hub.subscriptions().some((s) => s.id === req.params.id))
          throw fail(400, 'PropertyNotWritable', ['Context'], 'Context');
        await hub.update(req.params.id ?? '', req.body.Context as string);
        return destinationBody(req.params.id ?? '');
      },
      delete: async (req) => {
        const id = req.params.id ?? '';
        const sse = hub.streams().find((c) => c.id === id);
        if (sse) sse.res.end();
        else if (!(await hub.unsubscribe(id))) throw notFound('EventDestination', id);
        return { status: 204, headers: {} };
      },
    },
    {
      // Sends one event, as given (every parameter optional), to every subscription and stream.
      pattern: `${ES}/Actions/EventService.SubmitTestEvent`,
      entity: 'EventService',
      post: (req): Reply => {
        const text: FieldCheck = { type: 'string', maxLength: 1024 };
        // Every parameter is optional: an empty body sends the TestMessage.
        if (Object.keys(req.body).length > 0)
          checkBody(
            req.body,
            {
              EventId: text,
              EventGroupId: { type: 'integer', min: 0 },
              EventTimestamp: { type: 'string', maxLength: 64 },
              Message: text,
              MessageId: { type: 'string', pattern: MESSAGE_ID, maxLength: 256 },
              MessageSeverity: { type: 'string', values: ['OK', 'Warning', 'Critical'] },
              OriginOfCondition: { type: 'string', pattern: /^\/redfish\/v1(\/|$)/, maxLength: 1024 },
              EventType: {
                type: 'string',
                values: ['Alert', 'StatusChange', 'ResourceUpdated', 'ResourceAdded', 'ResourceRemoved', 'Other'],
              },
            },
            {},
          );
        const b = req.body as Record<string, string | number | undefined>;
        const when = b.EventTimestamp === undefined ? new Date() : new Date(String(b.EventTimestamp));
        if (Number.isNaN(when.getTime()))
          throw fail(400, 'ActionParameterValueFormatError', [
            String(b.EventTimestamp),
            'EventTimestamp',
            'SubmitTestEvent',
          ]);
        const test = eventMessage('TestMessage');
        hub.publish([
          {
            EventType: String(b.EventType ?? 'Other'),
            EventId: String(b.EventId ?? `test-${when.getTime()}`),
            EventTimestamp: when.toISOString(),
            MessageId: String(b.MessageId ?? test.MessageId),
            Message: String(b.Message ?? test.Message),
            MessageArgs: [],
            MessageSeverity: String(b.MessageSeverity ?? test.MessageSeverity),
            ...(b.EventGroupId !== undefined ? { EventGroupId: b.EventGroupId } : {}),
            OriginOfCondition: { '@odata.id': String(b.OriginOfCondition ?? ES) },
          },
        ]);
        deps.ctx.log.info({ user: req.principal?.name }, 'redfish: test event submitted');
        return { status: 204, headers: {} };
      },
    },
    {
      pattern: `${ES}/SSE`,
      entity: 'EventService',
      stream: (req) => ({
        status: 200,
        headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' },
        stream: (res) => void hub.openStream(req.principal?.name ?? '', res, req.sessionId),
      }),
    },
  ];
}
