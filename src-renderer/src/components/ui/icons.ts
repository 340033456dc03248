// Inline SVG icons (24x24 grid, stroked, round joins) drawn for Hintbrush; each icon is a list of path data.
// Inline so the app works offline and under a strict CSP without an icon font.

const circle = (cx: number, cy: number, r: number) =>
  `M${cx - r} ${cy}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`;

export const ICONS = {
  brush: [
    'M18.4 3.6a2 2 0 0 1 2.9 2.8l-8.6 8.9-2.9-2.9z',
    'M9.8 12.4c-2.3-.3-4.4 1.3-4.6 3.6-.2 1.8-1 3-2.7 3.6 3.4 1.6 7.6 1.3 9.6-1.2 1-1.3 1-3 .6-3.2',
  ],
  library: ['M4 4.5h4v15H4z', 'M10 4.5h4v15h-4z', 'M16.2 5.3l3.8-1 3 14.4-3.8 1z'],
  canvas: ['M4 5h16v11H4z', 'M9 20l3-4 3 4', 'M8 12l2.5-3 2 2 1.5-2 2 3'],
  'folder-plus': [
    'M3.5 6.5a2 2 0 0 1 2-2h3.6l2 2.2h7.4a2 2 0 0 1 2 2v8.8a2 2 0 0 1-2 2h-13a2 2 0 0 1-2-2z',
    'M12 10.5v5',
    'M9.5 13h5',
  ],
  folder: ['M3.5 6.5a2 2 0 0 1 2-2h3.6l2 2.2h7.4a2 2 0 0 1 2 2v8.8a2 2 0 0 1-2 2h-13a2 2 0 0 1-2-2z'],
  refresh: ['M20 11.5A8 8 0 0 0 6.3 6.2L4 8.5', 'M4 4v4.5h4.5', 'M4 12.5a8 8 0 0 0 13.7 5.3l2.3-2.3', 'M20 20v-4.5h-4.5'],
  search: [circle(11, 11, 6.5), 'M16 16l4.5 4.5'],
  x: ['M6 6l12 12', 'M18 6L6 18'],
  copy: ['M9 9h10.5v10.5H9z', 'M5.5 15H4.5V4.5H15v1'],
  check: ['M5 12.5l4.5 4.5L19 7.5'],
  warning: ['M12 4L2.8 19.5h18.4z', 'M12 10v4.2', 'M12 16.9v.2'],
  info: [circle(12, 12, 8.5), 'M12 11v5.5', 'M12 7.8v.2'],
  chip: ['M7 7h10v10H7z', 'M10 10h4v4h-4z', 'M9.5 3v4M14.5 3v4M9.5 17v4M14.5 17v4M3 9.5h4M3 14.5h4M17 9.5h4M17 14.5h4'],
  trash: ['M4.5 7h15', 'M9.5 7V4.5h5V7', 'M6.5 7l1 12.5h9l1-12.5', 'M10.3 10.5v6M13.7 10.5v6'],
  'chevron-down': ['M7 10l5 5 5-5'],
  'chevron-right': ['M10 7l5 5-5 5'],
  file: ['M6 3.5h8l4 4v13H6z', 'M14 3.5v4h4'],
  cube: ['M12 3l8 4.5v9L12 21l-8-4.5v-9z', 'M4 7.5l8 4.5 8-4.5', 'M12 12v9'],
  disconnected: ['M4 4l16 16', 'M9 5.5a9.5 9.5 0 0 1 11.5 3.4', 'M3.5 8.9a9.6 9.6 0 0 1 2.9-2.4', 'M7 12.6a5 5 0 0 1 3.2-1.5', 'M12 17.5v.2'],
  stop: ['M7 7h10v10H7z'],
  hash: ['M5 9h15', 'M4 15h15', 'M10.5 4L8.5 20', 'M15.5 4l-2 16'],
  tag: ['M3.5 12.2V4.5a1 1 0 0 1 1-1h7.7l8.3 8.3-8.7 8.7z', circle(8, 8, 1.3)],
  layers: ['M12 4l8.5 4.5L12 13 3.5 8.5z', 'M3.5 12.5L12 17l8.5-4.5', 'M3.5 16.5L12 21l8.5-4.5'],
  gallery: ['M4 4.5h7v7H4z', 'M13 4.5h7v7h-7z', 'M4 13.5h7v7H4z', 'M13 13.5h7v7h-7z'],
  sparkle: ['M12 3.5l2 5.5 5.5 2-5.5 2-2 5.5-2-5.5-5.5-2 5.5-2z'],
} as const satisfies Record<string, readonly string[]>;

export type IconName = keyof typeof ICONS;
