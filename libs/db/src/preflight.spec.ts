import { redisSupported, redisVersion } from './preflight';

describe('the Redis version check', () => {
  it('reads redis_version from INFO server', () => {
    expect(redisVersion('# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\n')).toBe('7.0.15');
    expect(redisVersion('# Server\r\nsome_proxy:1\r\n')).toBeNull();
  });

  it('needs 6.2 or later, for GETEX', () => {
    for (const version of ['6.2.0', '6.2', '7.0.15', '10.0.0']) expect([version, redisSupported(version)]).toEqual([version, true]);
    for (const version of ['6.0.16', '5.0.7', '2.8']) expect([version, redisSupported(version)]).toEqual([version, false]);
  });
});
