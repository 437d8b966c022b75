// A Pages Router API route that fails, wrapped with withBugstack.

import { withBugstack } from '@bugstack/sdk/next';

function handler(req, res) {
  const user = undefined;
  res.status(200).json({ name: user.name });
}

export default withBugstack(handler);
