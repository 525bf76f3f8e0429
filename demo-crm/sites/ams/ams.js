// AMS-APP-CRM client list: filter the cards as the agent types.
(() => {
  'use strict';
  const input = document.querySelector('input.filter');
  const cards = Array.from(document.querySelectorAll('.client-card'));
  if (!input) return;
  input.addEventListener('input', () => {
    const q = input.value.trim().toLowerCase();
    for (const c of cards) c.classList.toggle('hidden-card', q !== '' && !c.textContent.toLowerCase().includes(q));
  });
})();
