// The user's support page: the chat fills the page.

import './support.js';

const input = document.querySelector('support-chat textarea');
// A keyboard and mouse: ready to type. (On touch screens focusing would
// pop up the keyboard over the conversation.)
if (input && window.matchMedia('(pointer: fine)').matches) input.focus();
