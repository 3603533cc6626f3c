environment = "qa"
zookeeper_nodes = 2
kafka_brokers = 2
cassandra_nodes = 2
school_replicas = 2
kafka_admin_password = "qa-secret"
