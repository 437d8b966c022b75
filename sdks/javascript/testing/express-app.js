'use strict';

/** A small Express app for the SDK's tests: routes that fail in the ways real apps do. */

const express = require('express');

function createApp(bugstack, { ownErrorHandler = false } = {}) {
  const app = express();
  app.set('env', 'test'); // Express's own handler would print every stack to stderr
  app.use(bugstack.requestHandler());
  app.use(express.json());

  const users = express.Router();
  users.get('/:id', (req, res) => {
    const user = findUser(req.params.id);
    res.json({ name: user.name });
  });
  app.use('/users', users);

  app.post('/login', (req) => {
    throw new Error(`login failed for ${req.body.user}`);
  });
  app.get('/orders/:id', async () => {
    await Promise.resolve();
    throw new RangeError('order total out of range');
  });
  app.get('/missing', () => {
    throw Object.assign(new Error('no such page'), { status: 404 });
  });
  app.get('/reported', (req, res) => {
    res.json({ id: bugstack.captureException(new Error('reported by hand')) });
  });

  app.use(bugstack.expressErrorHandler());
  if (ownErrorHandler) {
    app.use((err, req, res, next) => {
      res.status(503).json({ handledBy: 'app', message: err.message });
    });
  }
  return app;
}

function findUser(id) {
  const users = { 1: { name: 'Ada' } };
  return users[id]; // undefined for an unknown id: the route then reads a property of undefined
}

module.exports = { createApp };
