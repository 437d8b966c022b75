import type { NextFunction, Request, Response } from 'express';
import jwt from 'jsonwebtoken';

export function requireUser(req: Request, res: Response, next: NextFunction) {
  try {
    (req as any).user = jwt.verify(String(req.get('authorization')).replace('Bearer ', ''), process.env.JWT_SECRET!);
    next();
  } catch (error) {
    res.status(401).json({ error: 'unauthorised' });
  }
}
