import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { log as activityLog } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createLogger, resolveLogFormat, type LogFormat } from '../../src/logger';
import { temporalLoggerFor } from '../../src/temporal/logger';

/** A logger whose output lands in an array, one entry per written line. */
function capture(level = 'info', format: LogFormat = 'json') {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger(level, { service: 'worker' }, sink, format), lines };
}

const isJson = (line: string) => {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
};

describe('LOG_FORMAT', () => {
  it('pretty writes readable lines, not JSON, with secrets still redacted', () => {
    const { logger, lines } = capture('info', 'pretty');
    logger.info({ taskQueue: 'smart-agents', config: { apiKey: 'sk-live-secret' } }, 'worker running');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some(isJson)).toBe(false);
    expect(lines[0]).toMatch(/INFO.*worker running/);
    expect(lines.join('\n')).toContain('smart-agents');
    expect(lines.join('\n')).not.toContain('sk-live-secret');
  });

  it('json (the default) writes one JSON object a line', () => {
    const { logger, lines } = capture();
    logger.info({ taskQueue: 'smart-agents' }, 'worker running');
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'worker running', taskQueue: 'smart-agents', service: 'worker' });
  });

  it('is read from the config, and unset means pretty only at a terminal outside production', () => {
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).LOG_FORMAT).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'yaml' })).toThrow(/LOG_FORMAT/);
    expect(resolveLogFormat('json', { isTTY: true }, {})).toBe('json');
    expect(resolveLogFormat(undefined, { isTTY: true }, {})).toBe('pretty');
    expect(resolveLogFormat(undefined, { isTTY: true }, { NODE_ENV: 'production' })).toBe('json');
    expect(resolveLogFormat(undefined, { isTTY: false }, {})).toBe('json');
  });
});

describe("the Temporal SDK's logs", () => {
  it('a failed activity is logged without its task token, and with what identifies it', async () => {
    const { logger, lines } = capture();
    const taskToken = randomBytes(300);
    const env = new MockActivityEnvironment(
      { taskToken, base64TaskToken: taskToken.toString('base64'), activityType: 'callTool', attempt: 3 },
      { logger: temporalLoggerFor(logger) },
    );
    await expect(
      env.run(async () => {
        activityLog.info('calling the tool');
        throw new Error('tool answered 503');
      }),
    ).rejects.toThrow('tool answered 503');
    const failed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'Activity failed');
    expect(failed).toMatchObject({ level: 40, activityType: 'callTool', attempt: 3 });
    expect(lines.some((l) => l.includes('calling the tool'))).toBe(true);
    expect(lines.join('\n')).not.toContain('taskToken');
    expect(lines.join('\n')).not.toContain(taskToken.toString('base64').slice(0, 40));
  });

  it("the workflow bundler's webpack report is at debug, its one-line summary at info", async () => {
    const { logger, lines } = capture('debug');
    await bundleWorkflowCode({ workflowsPath: path.join(__dirname, '../fixtures/tiny-workflow.ts'), logger: temporalLoggerFor(logger) });
    const entries = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
    const report = entries.filter((e) => /webpack \d+\.\d+\.\d+ compiled/.test(e.msg));
    expect(report).toHaveLength(1);
    expect(report[0]!.level).toBe(20);
    const info = entries.filter((e) => e.level === 30);
    expect(info.map((e) => e.msg)).toEqual(['Workflow bundle created']);
  });
});
