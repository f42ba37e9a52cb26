/**
 * Custom search attributes every workflow carries, as `[name, type]`. Mirrors `searchAttributeDefinitions`
 * in workflows/contracts/temporal.ts (plain JS here because scripts run before node_modules exists); the unit test for
 * docker-compose.yml checks that the two lists and the compose setup agree.
 */
export const searchAttributeDefinitions = [
  ['ProjectId', 'Keyword'],
  ['AgentId', 'Keyword'],
  ['ConversationId', 'Keyword'],
  ['RuleId', 'Keyword'],
  ['EscalationStatus', 'Keyword'],
  ['EscalationLevel', 'Int'],
];
