// How the canvas shows and picks OpenPose skeletons. The body model itself (keypoint order, limbs, colours,
// a standing figure) is the hint processing's (common/hints/pose.ts), so the editor draws what the model is fed.
import type { PosePerson } from '../../../src-main/common/document/model.ts';
import { LIMB_SEQUENCE, POSE_COLORS } from '../../../src-main/common/hints/pose.ts';

/** The 17 limbs draw_bodypose draws, as zero-based keypoint pairs. */
export const LIMBS: readonly (readonly [number, number])[] = LIMB_SEQUENCE.slice(0, 17).map(([a, b]) => [a - 1, b - 1] as const);

/** OpenPose colours as CSS: keypoint i and limb i share colour i. */
export const POSE_CSS: readonly string[] = POSE_COLORS.map(([r, g, b]) => `rgb(${r}, ${g}, ${b})`);

/** Index of the joint nearest to `p` within `radius` over every person: [person, keypoint] or null. */
export function hitJoint(people: readonly PosePerson[], p: { x: number; y: number }, radius: number): [number, number] | null {
  let best: [number, number] | null = null;
  let bestD = radius;
  people.forEach((person, pi) =>
    person.keypoints.forEach((k, ki) => {
      const d = Math.hypot(k.x - p.x, k.y - p.y);
      if (d <= bestD) {
        bestD = d;
        best = [pi, ki];
      }
    }),
  );
  return best;
}
