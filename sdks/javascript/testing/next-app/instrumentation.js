// As bugstack's setup page shows it for Next.js.
export async function register() {
  const bugstack = await import('@bugstack/sdk');
  bugstack.init(); // reads BUGSTACK_DSN
}

export { onRequestError } from '@bugstack/sdk/next';
