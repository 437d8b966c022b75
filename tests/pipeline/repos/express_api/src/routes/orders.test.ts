import request from 'supertest';
import app from '../app';

test('quote needs a user', async () => {
  await request(app).get('/orders/1/quote').expect(401);
});
