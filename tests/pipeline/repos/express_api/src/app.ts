import express from 'express';
import orders from './routes/orders';

const app = express();
app.use(express.json());
app.use('/orders', orders);

export default app;
