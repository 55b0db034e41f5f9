import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';

// The Prometheus registry /metrics serves: one per application instance (not prom-client's global), so several
// instances in one process — as in the tests — do not clash. Every library registers its metrics here.
@Injectable()
export class MetricsRegistry extends Registry {}
