// An Express app reporting its errors with the official Sentry SDK, set up as Sentry's guide for Express
// says. It listens on a free port on 127.0.0.1 and prints "listening on <port>" once it does.
require("./instrument");

const Sentry = require("@sentry/node");
const express = require("express");

const app = express();

function customerId(order) {
  return order.customer.id;
}

app.get("/orders/:id", function showOrder(req, res) {
  res.json({ customer: customerId({ id: req.params.id }) });
});

Sentry.setupExpressErrorHandler(app);

const server = app.listen(0, "127.0.0.1", () => {
  console.log(`listening on ${server.address().port}`);
});
