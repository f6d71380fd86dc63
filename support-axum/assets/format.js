// Dates, times, durations and names for people, in the browser's locale.

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayTime = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});
const date = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const monthDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth()
    && a.getDate() === b.getDate();
}

/** "14:05" today, "Mar 3, 14:05" this year, else "Mar 3, 2024". */
export function shortTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const now = new Date();
  if (sameDay(d, now)) return time.format(d);
  if (d.getFullYear() === now.getFullYear()) return dayTime.format(d);
  return date.format(d);
}

/** "Monday, March 3, 2025 at 14:05". */
export function fullTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : full.format(d);
}

/** "now", "5 min", "3 h", "Mon", "Mar 3". */
export function ago(iso) {
  const d = new Date(iso);
  const seconds = (Date.now() - d.getTime()) / 1000;
  if (Number.isNaN(seconds)) return '';
  if (seconds < 60) return 'now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400 && sameDay(d, new Date())) return time.format(d);
  if (seconds < 6 * 86400) return weekday.format(d);
  return monthDay.format(d);
}

/** "45 s", "12 min", "3.5 h", "2.1 d"; "–" without a value. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '–';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** "Mar 3" (for chart axes). */
export function dayLabel(d) {
  return monthDay.format(d);
}

/** "under a minute", "about 5 minutes", "about 2 hours", "about 3 days". */
export function replyTime(seconds) {
  if (seconds < 60) return 'under a minute';
  const unit = (n, word) => `about ${n} ${word}${n === 1 ? '' : 's'}`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return unit(minutes, 'minute');
  const hours = Math.round(seconds / 3600);
  if (hours < 24) return unit(hours, 'hour');
  return unit(Math.round(seconds / 86400), 'day');
}

/** "Ada", "Ada and Bob", "Ada, Bob and Carol". */
export function nameList(names) {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * What a user is told of the team (`GET /presence`): "The team is online",
 * else "Usually replies in about 5 minutes" when the server knows, else ''.
 */
export function presenceSentence(presence) {
  if (presence.team_online) return 'The team is online';
  const seconds = presence.usual_first_response_seconds;
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0) {
    return `Usually replies in ${replyTime(seconds)}`;
  }
  return '';
}
