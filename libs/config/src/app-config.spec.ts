import { AppConfig } from './app-config';
import { StartupError } from './errors/startup-error';

const DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/gatehouse';

describe('AppConfig', () => {
  it('applies the documented defaults', () => {
    const { env, mcpUrl } = AppConfig.from({ DATABASE_URL });
    expect(env.PORT).toBe(3000);
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(env.GATEHOUSE_RUN_WORKERS).toBe(true);
    expect(env.usingDevelopmentSecretKey).toBe(true);
    expect(mcpUrl).toBe('http://localhost:3000/mcp');
  });

  it('derives allowed origins from PUBLIC_URL plus the configured list', () => {
    const config = AppConfig.from({
      DATABASE_URL,
      PUBLIC_URL: 'https://gatehouse.acme.test/',
      GATEHOUSE_ALLOWED_ORIGINS: 'https://claude.ai, https://chatgpt.com',
    });
    expect(config.mcpUrl).toBe('https://gatehouse.acme.test/mcp');
    expect([...config.allowedOrigins]).toEqual(['https://gatehouse.acme.test', 'https://claude.ai', 'https://chatgpt.com']);
  });

  it.each([
    [{}, 'DATABASE_URL is not set'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL must be a postgresql:// URL'],
    [{ DATABASE_URL, PORT: 'eighty' }, 'PORT'],
    [{ DATABASE_URL, GATEHOUSE_RUN_WORKERS: 'maybe' }, 'GATEHOUSE_RUN_WORKERS'],
    [{ DATABASE_URL, NODE_ENV: 'production' }, 'GATEHOUSE_SECRET_KEY is required when NODE_ENV=production'],
    [{ DATABASE_URL, NODE_ENV: 'test' }, 'GATEHOUSE_SECRET_KEY is required when NODE_ENV=test'],
    [{ DATABASE_URL, GATEHOUSE_SECRET_KEY: 'short' }, 'at least 32 characters'],
  ])('refuses %j with one clear line', (values, message) => {
    expect(() => AppConfig.from(values)).toThrow(StartupError);
    expect(() => AppConfig.from(values)).toThrow(message);
  });
});
