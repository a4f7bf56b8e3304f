/**
 * API errors carry Docker's status codes; the body is `{"message": "..."}` as dockerd sends it,
 * which the docker CLI prints as "Error response from daemon: <message>".
 */
import { ImageConflictError, ImageNotFoundError } from '../image/service';
import { ReferenceError } from '../image/reference';
import { RegistryError } from '../image/registry/client';
import { ImportChangeError } from '../image/archive/import';
import { ArchiveError } from '../image/archive/docker-archive';
import { DigestError } from '../image/digest';
import { EngineConflictError, NotModifiedError } from '../engine/errors';
import { NameConflictError, NoSuchContainerError } from '../engine/store';
import { InvalidNameError } from '../engine/names';
import { ExecNotFoundError } from '../engine/exec';
import { SpecInputError } from '../engine/spec/errors';
import { DetachKeysError } from './stream';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (m: string): ApiError => new ApiError(400, m);
export const notFound = (m: string): ApiError => new ApiError(404, m);
export const conflict = (m: string): ApiError => new ApiError(409, m);

/** The HTTP status for an error thrown by a subsystem. */
export function statusOf(e: unknown): number {
  if (e instanceof ApiError) return e.status;
  if (e instanceof EngineConflictError) return e.status;
  if (e instanceof NotModifiedError) return 304;
  if (e instanceof NoSuchContainerError || e instanceof ExecNotFoundError) return 404;
  if (e instanceof NameConflictError) return 409;
  if (e instanceof InvalidNameError || e instanceof SpecInputError || e instanceof DetachKeysError) return 400;
  if (e instanceof ImageNotFoundError) return 404;
  if (e instanceof ImageConflictError) return 409;
  if (e instanceof ReferenceError || e instanceof ImportChangeError || e instanceof ArchiveError || e instanceof DigestError) return 400;
  if (e instanceof RegistryError) {
    if (e.code === 'not-found') return 404;
    if (e.code === 'unauthorized') return 401;
    return 500;
  }
  return 500;
}
