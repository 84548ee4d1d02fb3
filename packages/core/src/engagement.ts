// How engagement is decided (issue 15; README "How engagement is decided"). An open of a message's
// `/r/` link is a person unless it looks like a machine: mail gateways and link previewers fetch
// every link of a message on its way in, within seconds of the send. Such an open is still
// recorded (delivery_opens counts it, as a machine open) and still redirected; it is just never
// counted as engagement in reach.

/** Opens sooner than this after the message was sent are a gateway's scan, not a reader. */
export const MIN_SECONDS_TO_ENGAGE = 60;

/**
 * User-agent substrings (matched case-insensitively) of link scanners and previewers: secure email
 * gateways (Barracuda Link Protection, Proofpoint URL Defense, Mimecast URL Protect, Cisco Secure
 * Email / IronPort, Trend Micro, FortiMail), Microsoft Safe Links and Bing's preview, Google's and
 * chat apps' link checkers. One list, here; add to it, never copy it.
 */
export const SCANNER_USER_AGENTS = [
  'barracuda',
  'proofpoint',
  'mimecast',
  'ciscosecureemail',
  'ironport',
  'trend micro',
  'tmes',
  'fortimail',
  'safelinks',
  'bingpreview',
  'bingbot',
  'msoffice',
  'googlebot',
  'google-safety',
  'google-inspectiontool',
  'googleimageproxy',
  'facebookexternalhit',
  'slackbot',
  'skypeuripreview',
  'headlesschrome',
] as const;

export type MachineOpenReason = 'head' | 'scanner' | 'too_early';

/** Whether a user agent is a known scanner or previewer; a missing one is a machine too (every browser sends one). */
export function isScannerUserAgent(userAgent: string | undefined | null): boolean {
  const ua = (userAgent ?? '').trim().toLowerCase();
  return ua === '' || SCANNER_USER_AGENTS.some((s) => ua.includes(s));
}

/**
 * Why an open is a machine's, or null for a person's: a HEAD request, a scanner's user agent, or
 * an open sooner than MIN_SECONDS_TO_ENGAGE after the send. A message whose send time is unknown
 * (never recorded as sent) cannot have been read yet: too early.
 */
export function machineOpen(o: { method: string; userAgent?: string | null; sentAt: Date | null; at: Date }): MachineOpenReason | null {
  if (o.method.toUpperCase() === 'HEAD') return 'head';
  if (isScannerUserAgent(o.userAgent)) return 'scanner';
  if (!o.sentAt || o.at.getTime() - o.sentAt.getTime() < MIN_SECONDS_TO_ENGAGE * 1000) return 'too_early';
  return null;
}
