import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Approval = components['schemas']['ApprovalDto'];
export type Session = components['schemas']['SessionDto_Output'];
export type ApiKey = components['schemas']['ApiKeyDto'];
export type Member = components['schemas']['MemberDto'];
export type AddedMember = components['schemas']['AddedMemberDto'];
export type IdentityProvider = components['schemas']['IdentityProviderViewDto_Output'];
export type IdentityProviderInput = components['schemas']['IdentityProviderDto'];
export type ToolChange = components['schemas']['OrganizationToolChangeDto_Output'];
export type Tool = components['schemas']['ToolDto_Output'];
export type ToolResult = components['schemas']['CallToolResultDto_Output'];
export type Connection = components['schemas']['ConnectionDto_Output'];
export type ConnectionHealth = components['schemas']['ConnectionHealthDto_Output'];
export type ConnectionTool = components['schemas']['ConnectionToolDto_Output'];
export type ConnectionTestResult = components['schemas']['ConnectionTestResultDto_Output'];
export type ConnectionSpec = components['schemas']['CreateConnectionDto'];
export type AuditRecord = components['schemas']['AuditPageDto_Output']['items'][number];
export type AuditSink = components['schemas']['AuditSinkDto'];
export type CallTimeline = components['schemas']['CallTimelineDto_Output'];
export type Overview = components['schemas']['OverviewDto'];
export type UsageReport = components['schemas']['UsageReportDto'];
export type BudgetBurnDown = components['schemas']['BudgetBurnDownDto']['budgets'][number];
export type Policy = components['schemas']['StoredPolicyDto_Output'];
export type PolicyDraft = components['schemas']['PolicyDto'];
export type PolicyRevision = components['schemas']['PolicyRevisionDto'];
export type PolicyPreview = components['schemas']['PolicyPreviewDto_Output'];
export type Workflow = components['schemas']['WorkflowDto_Output'];
export type WorkflowRun = components['schemas']['WorkflowRunDto_Output'];

/** An RFC 9457 problem, as every error of the admin API is answered. */
export interface Problem {
  title?: string;
  detail?: string;
  status?: number;
  /** A rejected body: what is wrong with each field (its path, e.g. `url` or `headers.Authorization`). */
  errors?: { path: string; message: string }[];
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// What every request carries: the session's CSRF token on changes, and the organization the page acts in.
const context = { csrfToken: '', organization: '' };

export function setRequestContext(next: Partial<typeof context>): void {
  Object.assign(context, next);
}

/** Off to the sign-in page, back to this page afterwards. */
export function signIn(): void {
  const next = `${window.location.pathname}${window.location.search}`;
  window.location.assign(`/admin/sign-in?next=${encodeURIComponent(next)}`);
}

const credentials: Middleware = {
  onRequest({ request }) {
    if (MUTATING.has(request.method) && context.csrfToken) request.headers.set('X-CSRF-Token', context.csrfToken);
    if (context.organization) request.headers.set('Gatehouse-Organization', context.organization);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) signIn();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(credentials);

/** The words of an error for a person: the API's own detail, or what to do about a network failure. */
export function problemText(error: unknown): string {
  if (error && typeof error === 'object') {
    const problem = error as Problem;
    if (problem.detail) return problem.detail;
    if (problem.title) return problem.title;
  }
  if (error instanceof TypeError) return 'Gatehouse cannot be reached. Check your connection; this page retries on its own.';
  return 'Something went wrong. Reload the page; if it happens again, tell your Gatehouse operator.';
}

/** The data of an openapi-fetch answer, or its problem thrown (for TanStack Query). */
export async function data<T>(answer: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data: body, error, response } = await answer;
  if (error !== undefined || !response.ok) throw error ?? { status: response.status, title: response.statusText };
  return body as T;
}
