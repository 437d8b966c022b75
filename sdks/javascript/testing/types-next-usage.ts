// Compiled (never run) by test/types.test.js: how a Next.js app uses the SDK, checked against next.d.ts.

import { onRequestError, withBugstack } from '../next';
import type { NextErrorContext } from '../next';

export const hook: (error: unknown, request: any, context: NextErrorContext) => void = onRequestError;

onRequestError(
  new Error('x'),
  { path: '/a?b=1', method: 'GET', headers: { host: 'localhost' } },
  { routerKind: 'App Router', routePath: '/a', routeType: 'render' },
);

export const route = withBugstack(
  async (req: { method?: string }, res: { status(code: number): void }) => res.status(204),
  { route: '/api/users/[id]' },
);

// @ts-expect-error the router kind is one Next.js names
const wrongKind: NextErrorContext = { routerKind: 'x', routePath: '/', routeType: 'route' };
// @ts-expect-error an API route is a function
withBugstack('handler');

export { wrongKind };
