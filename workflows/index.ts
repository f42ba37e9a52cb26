export { runConversationTurn } from './conversation-turn.js';
export { testTool } from './tool-test.js';
export { ingestKnowledgeDocumentWorkflow } from './knowledge-ingestion.js';
export { runAgentTask } from './agent-task.js';
export { conversationSession } from './conversation-session.js';
export { runEscalation } from './escalation.js';
export { runThresholdMonitor, runScheduledRule } from './rule-runs.js';
export { runWebhookDelivery } from './webhook-delivery.js';
