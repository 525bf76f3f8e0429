// Asks for the microphone once from a visible page: the offscreen document that
// runs calls cannot show a permission prompt itself.
document.getElementById('mic').addEventListener('click', async () => {
  const out = document.getElementById('result');
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    for (const t of stream.getTracks()) t.stop();
    out.className = 'ok';
    out.textContent = 'Microphone allowed. You can close this tab.';
  } catch (e) {
    out.className = 'warn';
    out.textContent = `The microphone is blocked (${e && e.name ? e.name : 'error'}). Allow it in the site settings of this page, then try again.`;
  }
});
