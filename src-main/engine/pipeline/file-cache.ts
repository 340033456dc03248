// The weight files a ModelRuntime has opened: each opened once, checked once per role it serves, and for LoRA
// files their module index built once.
//
// Ownership: the cache owns the files it opens; closeAll() closes them (ModelRuntime.dispose calls it).

import { openTensorFile } from '../../formats/open-tensor-file.ts';
import type { TensorFile } from '../../formats/tensor-file.ts';
import { indexLoraFile, type LoraModule } from '../models/lora.ts';
import { checkModelRole, type ModelRole } from './model-checks.ts';

/** Opened weight files, shared by every graph that reads them. */
export class FileCache {
  private readonly files = new Map<string, TensorFile>();
  private readonly checked = new Set<string>();
  private readonly loraIndex = new Map<string, Map<string, LoraModule>>();

  /** Opens `path` (once) and checks it can serve as `role` (once per role). */
  open(path: string, role: ModelRole): TensorFile {
    let f = this.files.get(path);
    if (!f) {
      f = openTensorFile(path);
      this.files.set(path, f);
    }
    const key = `${role}|${path}`;
    if (!this.checked.has(key)) {
      checkModelRole(f, role);
      this.checked.add(key);
    }
    return f;
  }

  loraModules(path: string): Map<string, LoraModule> {
    let m = this.loraIndex.get(path);
    if (!m) {
      m = indexLoraFile(this.open(path, 'lora'));
      this.loraIndex.set(path, m);
    }
    return m;
  }

  closeAll(): void {
    for (const f of this.files.values()) f.close();
    this.files.clear();
    this.checked.clear();
    this.loraIndex.clear();
  }
}
