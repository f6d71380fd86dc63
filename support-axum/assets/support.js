// Every component. A host page includes support.css and this module:
//   <link rel="stylesheet" href="/support/assets/support.css">
//   <script type="module" src="/support/assets/support.js"></script>
// and tells the components where the API is:
//   <meta name="support-api" content="/api/support">

export { SupportClient, ApiError, newClientId } from './api.js';
export { live } from './live.js';
export { SupportMessage } from './support-message.js';
export { SupportInput } from './support-input.js';
export { SupportChat } from './support-chat.js';
export { ConversationPreview } from './conversation-preview.js';
export { ConversationList } from './conversation-list.js';
export { SupportAnalytics } from './support-analytics.js';
export { SupportButton } from './support-button.js';
export { SupportStatus } from './support-status.js';
