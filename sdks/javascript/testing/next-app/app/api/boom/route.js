// An App Router route handler that fails.

export const dynamic = 'force-dynamic';

export async function GET() {
  const order = await findOrder('42');
  return Response.json({ total: order.total });
}

async function findOrder(id) {
  throw new RangeError(`order ${id} total out of range`);
}
