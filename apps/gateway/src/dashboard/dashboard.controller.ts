import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AppConfig, GatehouseError } from '@gatehouse/config';
import { DASHBOARD_CSP } from './dashboard-assets';

// The dashboard's page: one index.html for every path under /admin (the app routes in the browser), never cached so
// that a new release is picked up at once; its hashed assets are served by dashboardAssets, cached for good.
@ApiExcludeController()
@Controller('admin')
export class DashboardController {
  private readonly index: string | null;

  constructor(config: AppConfig) {
    const file = join(config.env.GATEHOUSE_DASHBOARD_DIR, 'index.html');
    this.index = existsSync(file) ? readFileSync(file, 'utf8') : null;
  }

  @Get(['', '*path'])
  page(@Req() request: Request, @Res() response: Response): void {
    // An asset that is not there (an old page asking for a file a newer release replaced) is not the page.
    if (request.path.startsWith('/admin/assets/')) throw GatehouseError.notFound(`No such dashboard file: ${request.path}`);
    if (this.index === null) {
      throw GatehouseError.notFound('The dashboard is not built: run `npm run build` (it builds apps/dashboard into GATEHOUSE_DASHBOARD_DIR)');
    }
    response
      .status(200)
      .set({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': DASHBOARD_CSP })
      .send(this.index);
  }
}
