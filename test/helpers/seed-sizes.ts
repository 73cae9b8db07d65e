/** the promised size → aspect ratio table (README, Images mapping), row by row (the unit and the HTTP tests both check all of it) */
export const SEED_SIZES: [string, string][] = [
  ["1024x1024", "1:1"],
  ["1920x1080", "16:9"],
  ["1280x720", "16:9"],
  ["1080x1920", "9:16"],
  ["720x1280", "9:16"],
  ["800x600", "4:3"],
  ["600x800", "3:4"],
  ["2560x1080", "21:9"],
];
