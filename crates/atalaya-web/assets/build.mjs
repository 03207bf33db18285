// Builds static/icons.svg: one <symbol> per icon the interface uses,
// from Lucide (ISC; line icons drawn with currentColor) and Simple Icons (CC0;
// the networks' marks, filled). Pages reference them as
// <svg><use href="/static/icons.svg#name"></use></svg>, one cached file.
// Also copies the licences next to the sprite. Run: npm ci && npm run build.
import { readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const vendor = join(here, '../static/vendor');

// Our name -> Lucide's file name.
const lucide = {
  dashboard: 'layout-dashboard', mentions: 'message-square-text', topics: 'tags', sources: 'rss',
  import: 'file-up', accounts: 'at-sign', members: 'users', activity: 'history', settings: 'settings',
  search: 'search', rss: 'rss', users: 'users', bell: 'bell', menu: 'menu', close: 'x', 'chevron-down': 'chevron-down',
  'chevron-left': 'chevron-left', 'chevron-right': 'chevron-right', sidebar: 'panel-left',
  sun: 'sun', moon: 'moon', monitor: 'monitor', 'log-out': 'log-out', user: 'user', plus: 'plus',
  filter: 'list-filter', 'external-link': 'external-link', copy: 'copy', link: 'link',
  more: 'ellipsis', check: 'check', warning: 'triangle-alert', error: 'circle-alert', info: 'info',
  'trending-up': 'trending-up', 'trending-down': 'trending-down', minus: 'minus', refresh: 'refresh-cw',
  pause: 'pause', play: 'play', archive: 'archive', edit: 'pencil', trash: 'trash-2',
  keyboard: 'keyboard', globe: 'globe', webhook: 'webhook', mail: 'mail', workspace: 'building-2',
  palette: 'palette', clock: 'clock', languages: 'languages', eye: 'eye', 'circle-check': 'circle-check',
  'circle-x': 'circle-x', loader: 'loader-circle', smile: 'smile', frown: 'frown', meh: 'meh',
  key: 'key-round', shield: 'shield-check', 'user-plus': 'user-plus', calendar: 'calendar',
  'arrow-right': 'arrow-right', 'arrow-up-right': 'arrow-up-right', sparkles: 'sparkles',
  'book-open': 'book-open', 'message-circle': 'message-circle', megaphone: 'megaphone', 'bar-chart': 'chart-column',
  'file-text': 'file-text', 'x-circle': 'circle-x', 'users-round': 'users-round', hash: 'hash',
};
// Our name -> Simple Icons' file name.
const brands = { mastodon: 'mastodon', bluesky: 'bluesky' };

function inner(svg) {
  return svg.replace(/<!--[\s\S]*?-->/g, '').replace(/^[\s\S]*?<svg[^>]*>/, '').replace(/<\/svg>\s*$/, '').trim()
    .replace(/\s*\n\s*/g, '');
}

const symbols = [];
for (const [name, file] of Object.entries(lucide)) {
  const svg = readFileSync(join(here, 'node_modules/lucide-static/icons', `${file}.svg`), 'utf8');
  symbols.push(`<symbol id="${name}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${inner(svg)}</symbol>`);
}
for (const [name, file] of Object.entries(brands)) {
  const svg = readFileSync(join(here, 'node_modules/simple-icons/icons', `${file}.svg`), 'utf8');
  symbols.push(`<symbol id="${name}" viewBox="0 0 24 24" fill="currentColor">${inner(svg).replace(/<title>[^<]*<\/title>/, '')}</symbol>`);
}
const lucideVersion = JSON.parse(readFileSync(join(here, 'node_modules/lucide-static/package.json'), 'utf8')).version;
const simpleVersion = JSON.parse(readFileSync(join(here, 'node_modules/simple-icons/package.json'), 'utf8')).version;
const sprite = `<svg xmlns="http://www.w3.org/2000/svg"><!-- Lucide ${lucideVersion} (ISC, icons-LICENSE.txt) and Simple Icons ${simpleVersion} (CC0-1.0): built by crates/atalaya-web/assets/build.mjs -->${symbols.join('')}</svg>\n`;
writeFileSync(join(here, '../static/icons.svg'), sprite);
copyFileSync(join(here, 'node_modules/lucide-static/LICENSE'), join(vendor, 'icons-LICENSE.txt'));
copyFileSync(join(here, 'node_modules/simple-icons/LICENSE.md'), join(vendor, 'simple-icons-LICENSE.md'));
console.log(`icons.svg: ${symbols.length} symbols, ${sprite.length} bytes`);
