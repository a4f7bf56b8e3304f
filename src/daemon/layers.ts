/** The layer store berthd gives the image service (the snapshotter's layer side). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayerStore } from '../image/service';
import { unpackImage } from '../storage/overlay/unpack';
import { overlayDir, removeLayer } from '../storage/overlay/layout';

export function overlayLayerStore(root: string): LayerStore {
  return {
    unpack: (store, manifest, config) => unpackImage(store, root, manifest, config),
    listLayers: async () => {
      try {
        return fs.readdirSync(overlayDir(root)).filter((n) => /^[0-9a-f]{64}$/.test(n));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
    },
    removeLayer: (id) => removeLayer(root, id),
  };
}

export function storageRoot(dataRoot: string): string {
  return path.join(dataRoot, 'storage');
}
