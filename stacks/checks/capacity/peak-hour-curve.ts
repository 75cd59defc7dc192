/**
 * The load curve the HPA is simulated over: 100 minutes around a dining peak, as a fraction of
 * the location's declared peak orders per minute. A quiet start, a ramp into the first wave, a
 * dip, a second wave with a short surge 20 % above the declared peak (a coach party, a festival
 * night: the declared peak is a planning figure, not a ceiling), then the tail.
 */
export interface CurvePoint {
  /** Minutes from the start. */
  readonly minute: number;
  /** Fraction of the declared peak. */
  readonly load: number;
}

/** Corner points; the load is linear between them. */
export const PEAK_HOUR_CURVE: readonly CurvePoint[] = [
  { minute: 0, load: 0.2 },
  { minute: 10, load: 0.25 },
  { minute: 25, load: 0.9 },
  { minute: 35, load: 1.0 },
  { minute: 45, load: 1.0 },
  { minute: 52, load: 0.7 },
  { minute: 60, load: 0.75 },
  { minute: 66, load: 1.2 },
  { minute: 70, load: 1.2 },
  { minute: 78, load: 0.8 },
  { minute: 90, load: 0.35 },
  { minute: 100, load: 0.2 },
];

export const CURVE_MINUTES = PEAK_HOUR_CURVE[PEAK_HOUR_CURVE.length - 1]!.minute;

/** The load at `minute`, interpolated; flat outside the curve. */
export function loadAt(minute: number, curve: readonly CurvePoint[] = PEAK_HOUR_CURVE): number {
  if (minute <= curve[0]!.minute) return curve[0]!.load;
  for (let i = 1; i < curve.length; i += 1) {
    const a = curve[i - 1]!;
    const b = curve[i]!;
    if (minute <= b.minute) return a.load + ((b.load - a.load) * (minute - a.minute)) / (b.minute - a.minute);
  }
  return curve[curve.length - 1]!.load;
}
