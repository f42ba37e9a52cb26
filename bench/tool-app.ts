import express, { type Express } from 'express';

/** The API the benchmark's tool calls: answers at once, so the measured cost is the tool machinery's. */
export function createToolApp(): Express {
  const app = express();
  app.get('/orders/:id', (req, res) => {
    res.json({ id: req.params.id, status: 'shipped' });
  });
  return app;
}
