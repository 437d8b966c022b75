// Type declarations for @bugstack/sdk/next (next.js). Hand-written: keep them in step with the code.

/** What Next.js passes `onRequestError` about the request (Next.js 15). */
export interface NextRequestInfo {
  /** The URL path with its query string. */
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

/** What Next.js passes `onRequestError` about where the error happened (Next.js 15). */
export interface NextErrorContext {
  routerKind: 'Pages Router' | 'App Router';
  /** The route as declared, such as `/api/users/[id]`. */
  routePath: string;
  routeType: 'render' | 'route' | 'action' | 'middleware';
  renderSource?: string;
  renderType?: string;
  revalidateReason?: 'on-demand' | 'stale' | undefined;
}

/** Next.js's instrumentation hook: `export { onRequestError } from '@bugstack/sdk/next'`. Never throws. */
export declare function onRequestError(
  error: unknown,
  request: NextRequestInfo,
  context: NextErrorContext,
): void;

/** Wrap a Pages Router API route: its errors are reported, then thrown again. */
export declare function withBugstack<Req, Res, Result>(
  handler: (req: Req, res: Res) => Result | Promise<Result>,
  options?: { route?: string },
): (req: Req, res: Res) => Promise<Result>;
