// What every lifecycle operation needs: the state store and a way to warn.
import { StateStore } from '../state/store';

export interface RuntimeContext {
  store: StateStore;
  warn(msg: string): void;
}
