import { CallHandler, ExecutionContext, HttpException, Injectable, NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { ZodValidationException } from 'nestjs-zod';
import { catchError, concatMap, from, map, Observable, throwError } from 'rxjs';
import { AuditRecorder } from '@gatehouse/audit';
import { GatehouseError } from '@gatehouse/config';
import { AUDITED_AS, AuditedAction, auditedTarget, auditActorOf, AuthenticatedRequest } from '@gatehouse/identity';
import { statusOf } from './problem';

// Fields of a response that name what changed. A whitelist: responses may carry secrets (a new key's secret).
const NAMING_FIELDS = ['id', 'name', 'prefix', 'role', 'access', 'version', 'status', 'transport'] as const;

// Records every call of an @AuditedAs admin route: after the handler succeeded, with what the response names,
// or when it failed, with the error's status and message. (A 403 from the permission check never reaches an
// interceptor; the guard records that one.) The request body is never recorded: it may hold secrets.
@Injectable()
export class AdminAuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly recorder: AuditRecorder,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const action = this.reflector.get<AuditedAction | undefined>(AUDITED_AS, context.getHandler());
    if (!action || context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    // Nest sets the status after interceptors ran: the route's @HttpCode, else 201 for POST and 200 otherwise.
    const status = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? (request.method === 'POST' ? 201 : 200);
    return next.handle().pipe(
      // The change is committed before this runs; the recorder never throws, so a lost record cannot turn it into an error.
      concatMap((result: unknown) => from(this.record(request, action, 'success', { status, ...naming(result, action.records) })).pipe(map(() => result))),
      catchError((error: unknown) => {
        const failure = describe(error);
        return from(this.record(request, action, failure.status === 403 ? 'denied' : 'failure', failure)).pipe(concatMap(() => throwError(() => error)));
      }),
    );
  }

  private record(request: AuthenticatedRequest, action: AuditedAction, outcome: string, details: Record<string, unknown>): Promise<void> {
    const { result, ...data } = details as { result?: Record<string, unknown> };
    return this.recorder.record({
      organizationId: request.principal.organizationId,
      kind: action.kind,
      actor: auditActorOf(request.principal),
      target: { ...auditedTarget(action, request.params), ...pick(result, ['id', 'name']) },
      outcome,
      data: { method: request.method, path: request.path, params: { ...request.params }, ...data, ...(result ? { result } : {}) },
    });
  }
}

function naming(result: unknown, records: readonly string[] = []): { result?: Record<string, unknown> } {
  const named = { ...pick(result, NAMING_FIELDS), ...recorded(result, records) };
  return Object.keys(named).length ? { result: named } : {};
}

// The route's own list of what it records (AuditedAs records), whatever JSON those fields hold.
function recorded(value: unknown, fields: readonly string[]): Record<string, unknown> {
  if (!value || typeof value !== 'object') return {};
  const source = value as Record<string, unknown>;
  return Object.fromEntries(fields.filter((field) => source[field] !== undefined).map((field) => [field, source[field]]));
}

function pick(value: unknown, fields: readonly string[]): Record<string, unknown> {
  if (!value || typeof value !== 'object') return {};
  const source = value as Record<string, unknown>;
  return Object.fromEntries(fields.filter((field) => ['string', 'number', 'boolean'].includes(typeof source[field])).map((field) => [field, source[field]]));
}

// The status the problem filter will answer with, and its message (domain errors' messages name no secrets).
function describe(error: unknown): { status: number; error: string } {
  if (error instanceof GatehouseError) return { status: statusOf(error.code), error: error.message };
  if (error instanceof ZodValidationException) return { status: 400, error: 'Invalid request body' };
  if (error instanceof HttpException) return { status: error.getStatus(), error: error.message };
  return { status: 500, error: 'Unexpected error' };
}
