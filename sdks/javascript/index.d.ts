// Type declarations for @bugstack/sdk (index.js). Hand-written: keep them in step with the code.

/** An event's level; `captureMessage` reads any other value as "info". */
export type Level = 'fatal' | 'error' | 'warning' | 'info' | 'debug';

/** An event in bugstack's native protocol v1, as `beforeSend` receives it. */
export interface BugstackEvent {
  event_id: string;
  timestamp: number;
  platform: 'node';
  level: Level;
  environment: string;
  server_name: string;
  release?: string;
  /** The text `captureMessage` was given (its exception value, of type "Message", says it too). */
  message?: string;
  exception: { values: ExceptionValue[] };
  request?: RequestPayload;
  contexts: Record<string, Record<string, unknown>>;
  sdk: { name: string; version: string };
  tags: Record<string, string>;
  /** Installed packages, name → version (`sendModules`); set in the background, before `beforeSend`. */
  modules?: Record<string, string>;
  [field: string]: unknown;
}

export interface ExceptionValue {
  type: string;
  value: string;
  mechanism?: { type: string; handled?: boolean; source?: string };
  stacktrace: { frames: Frame[] };
}

export interface Frame {
  filename: string;
  function: string;
  in_app: boolean;
  abs_path?: string;
  lineno?: number;
  colno?: number;
  context_line?: string;
  pre_context?: string[];
  post_context?: string[];
}

export interface RequestPayload {
  method: string;
  route: string | null;
  url?: string;
  query_string?: string;
  headers?: Record<string, string>;
  data?: unknown;
}

export interface Options {
  /** `http(s)://<key>@host[:port]/<project id>`; default `BUGSTACK_DSN`. Without one (or a key and an
   * endpoint) the SDK is off. */
  dsn?: string;
  /** With `endpoint`, instead of a DSN; default `BUGSTACK_KEY`. */
  key?: string;
  /** bugstack's base URL, with `key`; default `BUGSTACK_ENDPOINT`. */
  endpoint?: string;
  /** Default `BUGSTACK_ENVIRONMENT`, else "production". */
  environment?: string;
  /** Default `BUGSTACK_RELEASE`, else the git commit when `projectRoot` is a repository's top. */
  release?: string;
  /** Default `BUGSTACK_SERVER_NAME`, else the host name. */
  serverName?: string;
  /** Frames under it (outside node_modules) are the app's own; default the working directory. */
  projectRoot?: string;
  /** Packages whose frames are the app's own wherever they are installed (`['shoptool', '@acme/plugin']`):
   * an app run from its installed package, a plugin; default none. */
  inAppInclude?: string[];
  /** Also send the URL path, query string and headers; default `BUGSTACK_SEND_REQUEST_HEADERS`, else off. */
  sendRequestHeaders?: boolean;
  /** Also send the parsed body (at most 10 KiB); default `BUGSTACK_SEND_REQUEST_BODY`, else off. */
  sendRequestBody?: boolean;
  /** Send the installed packages' versions (`modules`), read once per process; default true. */
  sendModules?: boolean;
  /** Keys to filter besides the built-in list; `BUGSTACK_REDACT_KEYS` (comma-separated) adds more. */
  redactKeys?: string[];
  /** Change or drop (return null) an event, in the background just before it is sent. */
  beforeSend?: (event: BugstackEvent) => BugstackEvent | null | Promise<BugstackEvent | null>;
  /** The share of events (errors and messages) sent, 0 to 1; default 1. */
  sampleRate?: number;
  /** false turns the SDK off whatever the DSN; default true. */
  enabled?: boolean;
  /** Also write what happens to each event to stderr; default false. */
  debug?: boolean;
  /** Report errors nothing caught (`uncaughtException`); default true. */
  captureUncaught?: boolean;
  /** Events waiting to be sent; beyond it new ones are dropped and counted. Default 100. */
  maxQueueSize?: number;
  /** Milliseconds per HTTP request; default 2000. */
  timeout?: number;
  /** Retries after a 429, a 5xx or a network error; default 3. */
  maxRetries?: number;
  /** Milliseconds a natural exit or a crash waits for queued events; default 2000. */
  shutdownTimeout?: number;
}

export interface ResolvedOptions {
  readonly destination: { eventsUrl: string; key: string; projectId: string | null } | null;
  readonly environment: string;
  readonly release: string | null;
  readonly serverName: string;
  readonly projectRoot: string;
  readonly inAppInclude: readonly string[];
  readonly sendRequestHeaders: boolean;
  readonly sendRequestBody: boolean;
  readonly sendModules: boolean;
  readonly redactKeys: readonly string[];
  readonly beforeSend: Options['beforeSend'] | null;
  readonly sampleRate: number;
  readonly debug: boolean;
  readonly captureUncaught: boolean;
  readonly maxQueueSize: number;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly shutdownTimeout: number;
}

export interface Stats {
  /** Waiting or being sent. */
  queued: number;
  sent: number;
  /** The queue was full. */
  dropped: number;
  /** The server refused them (400, 401, 413, 415). */
  rejected: number;
  /** Retries used up, or the SDK closed first. */
  failed: number;
  /** `beforeSend` returned null or threw. */
  discarded: number;
}

export declare class Client {
  readonly options: ResolvedOptions;
  /** Configured with a destination, and not closed. */
  readonly enabled: boolean;
  readonly stats: Stats;
  captureException(error: unknown): string | null;
  captureMessage(message: string, level?: Level): string | null;
  flush(timeoutMs?: number): Promise<boolean>;
  close(timeoutMs?: number): Promise<boolean>;
}

/** The DSN or endpoint cannot be used; `init` logs it and leaves the SDK off. */
export declare class DsnError extends Error {}

export declare const VERSION: string;

/** Configure the SDK (arguments first, then `BUGSTACK_*` variables); never throws. */
export declare function init(options?: Options): Client;
export declare function getClient(): Client;
/** Report any thrown value; the event id, or null when nothing will be sent. */
export declare function captureException(error: unknown): string | null;
/** Report `message` (level default "info") with the caller's stack; the event id, or null. */
export declare function captureMessage(message: string, level?: Level): string | null;
/** True once queued events were sent; false if `timeoutMs` (default `shutdownTimeout`) passed first. */
export declare function flush(timeoutMs?: number): Promise<boolean>;
/** Flush, then stop sending; later captures are dropped. */
export declare function close(timeoutMs?: number): Promise<boolean>;

type Next = (err?: unknown) => void;
/** Express error middleware: reports the error, then `next(err)`. Add it after the routes. */
export declare function expressErrorHandler(): (err: any, req: any, res: any, next: Next) => void;
/** Express middleware that scopes the request, so `captureException` inside it describes it. Add it first. */
export declare function requestHandler(): (req: any, res: any, next: Next) => void;
