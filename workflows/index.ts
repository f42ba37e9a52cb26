export { runConversationTurn } from './conversation-turn.js';
