import { Router } from 'express';
import { requireUser } from '../middleware/auth';
import * as pricing from '../services/pricing';

// The database layer is still CommonJS.
const db = require('../db');

const router = Router();

router.get('/:id/quote', requireUser, async (req, res) => {
  const order = await db.findOrder(req.params.id);
  res.json(pricing.quote(order, req.user.country));
});

export default router;
