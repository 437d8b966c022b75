// Compiled (never run) by test/types.test.js: how an app uses the SDK, checked against index.d.ts.

import * as bugstack from '..';

const client: bugstack.Client = bugstack.init({
  dsn: 'http://key@localhost:8000/1',
  environment: 'staging',
  release: 'v1',
  serverName: 'web-1',
  projectRoot: '/srv/app',
  sendRequestHeaders: true,
  sendRequestBody: false,
  redactKeys: ['ssn'],
  sampleRate: 0.5,
  enabled: true,
  debug: false,
  captureUncaught: true,
  maxQueueSize: 50,
  timeout: 1000,
  maxRetries: 2,
  shutdownTimeout: 500,
  beforeSend: async (event: bugstack.BugstackEvent) => {
    const frame: bugstack.Frame | undefined = event.exception.values[0]?.stacktrace.frames.at(-1);
    return frame?.in_app ? event : null;
  },
});
bugstack.init({ key: 'k', endpoint: 'http://localhost:8000' });

const id: string | null = bugstack.captureException(new Error('x'));
const messageId: string | null = bugstack.captureMessage('cache is cold', 'warning');
const level: bugstack.Level = 'debug';
const fromClient: string | null = client.captureMessage('started') ?? client.captureMessage('again', level);
const flushed: Promise<boolean> = bugstack.flush(2000);
const closed: Promise<boolean> = client.close();
const stats: bugstack.Stats = bugstack.getClient().stats;
const sent: number = stats.sent + stats.dropped + stats.discarded;
const version: string = bugstack.VERSION;
const isDsnError: boolean = new Error('x') instanceof bugstack.DsnError;

const requestHandler: (req: any, res: any, next: (err?: unknown) => void) => void = bugstack.requestHandler();
const errorHandler: (err: any, req: any, res: any, next: (err?: unknown) => void) => void =
  bugstack.expressErrorHandler();

// @ts-expect-error a sample rate is a number
bugstack.init({ sampleRate: 'half' });
// @ts-expect-error beforeSend returns an event or null
bugstack.init({ beforeSend: () => 'drop' });
// @ts-expect-error the levels are the protocol's: "warning", not "warn"
bugstack.captureMessage('x', 'warn');
// @ts-expect-error option names are camelCase
bugstack.init({ server_name: 'web-1' });

export {
  closed,
  errorHandler,
  flushed,
  fromClient,
  id,
  isDsnError,
  messageId,
  requestHandler,
  sent,
  version,
};
