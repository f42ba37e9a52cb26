import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { decodedHistoryText } from '../support/history';

const { History } = temporal.api.history.v1;
const payload = (value: unknown) => defaultPayloadConverter.toPayload(value);
const payloads = (value: unknown) => ({ payloads: [payload(value)] });

/** One secret in each place a payload can sit in a history; the server sends bytes, so round-trip through the wire form. */
const secrets = {
  input: 'in-start-input', memo: 'in-memo', searchAttribute: 'in-search-attribute', header: 'in-header', result: 'in-activity-result',
  failureMessage: 'in-encoded-failure-attributes', failureDetails: 'in-cause-details', heartbeat: 'in-last-heartbeat', binary: 'in-binary-payload',
};
const history = History.decode(History.encode(History.create({
  events: [
    {
      workflowExecutionStartedEventAttributes: {
        input: payloads({ nested: { deep: [secrets.input] } }),
        memo: { fields: { note: payload(secrets.memo) } },
        searchAttributes: { indexedFields: { Tag: payload([secrets.searchAttribute]) } },
        header: { fields: { auth: payload(secrets.header) } },
      },
    },
    { activityTaskCompletedEventAttributes: { result: payloads(secrets.result) } },
    {
      activityTaskFailedEventAttributes: {
        failure: {
          message: 'Encoded failure',
          encodedAttributes: payload({ message: secrets.failureMessage, stack_trace: '' }),
          cause: { message: 'cause', applicationFailureInfo: { type: 'Boom', details: payloads({ why: secrets.failureDetails }) } },
        },
      },
    },
    { activityTaskTimedOutEventAttributes: { failure: { message: 'timed out', timeoutFailureInfo: { lastHeartbeatDetails: payloads(secrets.heartbeat) } } } },
    { markerRecordedEventAttributes: { markerName: 'm', details: { raw: { payloads: [payload(new TextEncoder().encode(secrets.binary))] } } } },
  ],
})).finish());

describe('decodedHistoryText', () => {
  it('finds a value in every kind of payload, where the proto JSON of the same history finds none', () => {
    const text = decodedHistoryText(history);
    const protoJson = JSON.stringify(history);
    for (const [where, secret] of Object.entries(secrets)) {
      expect(text, where).toContain(secret);
      expect(protoJson, where).not.toContain(secret); // why tests must not search the proto JSON
    }
  });

  it('parses JSON payloads in place, so strings are escaped as in any other JSON a test searches', () => {
    const text = decodedHistoryText(History.create({ events: [{ activityTaskCompletedEventAttributes: { result: payloads({ quoted: 'say "hi"' }) } }] }));
    expect(text).toContain(JSON.stringify('say "hi"'));
    expect(text).toContain('"encoding":"json/plain"');
  });
});
