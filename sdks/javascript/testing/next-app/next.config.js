// The SDK's Next.js test app. The build stays inside this folder (.next/, ignored by git).

module.exports = {
  eslint: { ignoreDuringBuilds: true },
};
