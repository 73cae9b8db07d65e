// What points a gateway at a simulator (the demo, the tests): imports nothing, so the CLI loads it
// without loading the simulator itself.
/** the configuration that points a gateway at a simulator at `simUrl`: Google's endpoints, sign-in and updater */
export function simulatorSettings(simUrl: string) {
  return {
    upstream: {
      endpoints: [simUrl],
      oauthTokenUrl: `${simUrl}/token`,
      userinfoUrl: `${simUrl}/oauth2/v2/userinfo`,
      // the simulator's copy of Antigravity's updater
      versionUrl: `${simUrl}/api/update/{target}/stable/latest`,
    },
    oauth: { authUrl: `${simUrl}/o/oauth2/v2/auth` },
  };
}
