'use strict';

/** The SDK's name and version, sent with every event and in the User-Agent. */
module.exports = {
  SDK_NAME: 'bugstack.node',
  VERSION: require('../package.json').version,
};
