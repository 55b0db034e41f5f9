import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by the gateway under /admin; `npm run dev` proxies the API and the sign-in pages to a local gateway.
const gateway = process.env.GATEHOUSE_URL ?? 'http://localhost:3000';

export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: { outDir: '../../dist/dashboard', emptyOutDir: true, assetsDir: 'assets', chunkSizeWarningLimit: 1024 },
  server: { proxy: { '/api': gateway, '/oauth': gateway, '/admin/sign-in': gateway } },
});
