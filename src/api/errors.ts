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
