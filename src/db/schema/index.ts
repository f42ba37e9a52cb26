export * from './tenancy.js';
export * from './agents.js';
export * from './conversations.js';
export * from './tools.js';
export * from './knowledge.js';
export * from './escalation.js';
export * from './operations.js';
export * from './webhooks.js';
