from roku_feed.cli import main

main()
