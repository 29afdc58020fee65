export function renderDemoPage(): string {
  return '<!doctype html><title>SSE demo</title><p>demo page placeholder</p>';
}
