// Edits of a pose layer's skeletons, for the pose tool: add/remove a person (a step each), drag a keypoint or
// a whole person (continuous: the tool marks on pointer down), show/hide a keypoint. Each edit replaces the
// layer's `people` through the store, so it is one undoable layer Change like any other property.
import { standingPerson } from '../../../src-main/common/hints/pose.ts';
import { cloneRecord } from './changes.ts';
import { newId } from '../../../src-main/common/document/layers.ts';
import type { PosePerson } from '../../../src-main/common/document/model.ts';

/** The slice of the DocumentStore person edits need (kept narrow to avoid an import cycle). */
export interface PersonEditTarget {
  readonly doc: { width: number; height: number };
  hintLayer(id: string): { people: PosePerson[]; hint: string };
  setPeople(id: string, people: PosePerson[], label?: string): void;
  transact<T>(label: string, run: () => T): T;
}

export class PersonEdits {
  constructor(private readonly store: PersonEditTarget) {}

  /** Adds a person (a standing figure by default) to a pose layer; returns it. One undo step. */
  add(layerId: string, person?: PosePerson): PosePerson {
    const layer = this.poseLayer(layerId);
    const { width, height } = this.store.doc;
    const count = layer.people.length;
    const added = person ? cloneRecord(person) : standingPerson(newId('person'), width, height, 0.5 + 0.15 * (count % 3) * (count % 2 ? 1 : -1));
    this.store.transact('Add person', () => this.store.setPeople(layerId, [...cloneRecord(layer.people), added], 'Add person'));
    return added;
  }

  remove(layerId: string, personId: string): void {
    const layer = this.poseLayer(layerId);
    this.store.transact('Remove person', () =>
      this.store.setPeople(layerId, cloneRecord(layer.people).filter((p) => p.id !== personId), 'Remove person'),
    );
  }

  /** Moves one keypoint to canvas pixels (x, y). Continuous: mark() on pointer down. */
  moveKeypoint(layerId: string, personId: string, index: number, x: number, y: number): void {
    this.edit(layerId, personId, 'Move joint', (p) => {
      const k = p.keypoints[index];
      if (!k) throw new RangeError(`keypoint ${index} does not exist (0..17)`);
      k.x = x;
      k.y = y;
    });
  }

  /** Moves every keypoint of a person by (dx, dy). Continuous. */
  movePerson(layerId: string, personId: string, dx: number, dy: number): void {
    this.edit(layerId, personId, 'Move person', (p) => {
      for (const k of p.keypoints) {
        k.x += dx;
        k.y += dy;
      }
    });
  }

  /** Hides or shows a keypoint (a hidden one drops its limbs from the control image). One undo step. */
  setKeypointVisible(layerId: string, personId: string, index: number, visible: boolean): void {
    this.store.transact(visible ? 'Show joint' : 'Hide joint', () =>
      this.edit(layerId, personId, visible ? 'Show joint' : 'Hide joint', (p) => {
        const k = p.keypoints[index];
        if (!k) throw new RangeError(`keypoint ${index} does not exist (0..17)`);
        k.visible = visible;
      }),
    );
  }

  private edit(layerId: string, personId: string, label: string, change: (p: PosePerson) => void): void {
    const people = cloneRecord(this.poseLayer(layerId).people);
    const person = people.find((p) => p.id === personId);
    if (!person) throw new Error(`pose layer ${layerId} has no person ${personId}`);
    change(person);
    this.store.setPeople(layerId, people, label);
  }

  private poseLayer(layerId: string) {
    const layer = this.store.hintLayer(layerId);
    if (layer.hint !== 'pose') throw new Error(`layer ${layerId} is a ${layer.hint} hint, not a pose`);
    return layer;
  }
}
